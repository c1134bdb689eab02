export { dockerdGlobalSetup as default } from '@infra/connector-testkit';
