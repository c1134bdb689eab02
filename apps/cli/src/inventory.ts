// The inventory code lives in @infra/deploy (its light `./inventory` entry, so
// `exec` does not load the deploy runner): connection strings or an inventory file.
export {
  hostDataFor,
  type InventoryHost,
  limitHosts,
  loadInventory,
  splitInventory,
} from '@infra/deploy/inventory';
