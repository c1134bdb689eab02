import { UnknownNameError } from './errors.js';

/** Keys tools probe on any object (await, JSON, inspection): they read as absent, never throw. */
const PROBED_KEYS = new Set([
  'then',
  'toJSON',
  'constructor',
  'inspect',
  'asymmetricMatch',
  'nodeType',
]);

/** The dotted names of a spec list, grouped by module: worked out once per list, not per host. */
interface NameIndex<TSpec> {
  readonly names: readonly string[];
  readonly modules: ReadonlyMap<string, ReadonlyMap<string, TSpec>>;
}

const indexes = new WeakMap<readonly object[], NameIndex<object>>();

function nameIndex<TSpec extends { readonly name: string }>(
  kind: 'operation' | 'fact',
  specs: readonly TSpec[],
): NameIndex<TSpec> {
  const known = indexes.get(specs);
  if (known) return known as NameIndex<TSpec>;
  const modules = new Map<string, Map<string, TSpec>>();
  for (const spec of specs) {
    const dot = spec.name.lastIndexOf('.');
    const module = spec.name.slice(0, dot);
    const member = spec.name.slice(dot + 1);
    const members = modules.get(module) ?? new Map<string, TSpec>();
    modules.set(module, members);
    if (members.has(member)) {
      throw new TypeError(`Two ${kind}s are named ${spec.name}: each name must be unique.`);
    }
    members.set(member, spec);
  }
  const index = { names: specs.map((spec) => spec.name), modules };
  indexes.set(specs, index);
  return index;
}

/**
 * `ops`/`facts` as nested objects built from dotted names (`files.put` ->
 * `tree.files.put`). Reading a name that is not there throws `UnknownNameError`
 * with the closest one ("no operation files.dirctory; did you mean files.directory?")
 * instead of leaving `undefined` to fail as "is not a function".
 *
 * Built for every host and deploy pass, so a module's members are bound on first
 * use only (a deploy uses a few of some hundred operations and facts).
 */
export function nameTree<TSpec extends { readonly name: string }, TBound>(
  kind: 'operation' | 'fact',
  specs: readonly TSpec[],
  bind: (spec: TSpec) => TBound,
): Record<string, Record<string, TBound>> {
  const { names, modules } = nameIndex(kind, specs);
  const guard = <T extends object>(target: T, prefix: string): T =>
    new Proxy(target, {
      get(object, key, receiver) {
        if (typeof key === 'symbol' || PROBED_KEYS.has(key) || Object.hasOwn(object, key)) {
          return Reflect.get(object, key, receiver);
        }
        if (prefix === '') {
          throw new UnknownNameError(`${kind} group`, key, [...modules.keys()]);
        }
        throw new UnknownNameError(kind, `${prefix}${key}`, names);
      },
    });
  const tree: Record<string, Record<string, TBound>> = {};
  for (const [module, specsOfModule] of modules) {
    Object.defineProperty(tree, module, {
      enumerable: true,
      configurable: true,
      get() {
        const members: Record<string, TBound> = {};
        for (const [member, spec] of specsOfModule) members[member] = bind(spec);
        const guarded = guard(members, `${module}.`);
        Object.defineProperty(tree, module, { value: guarded, enumerable: true });
        return guarded;
      },
    });
  }
  return guard(tree, '');
}

/**
 * The module of a spec's literal dotted name (`files` of `files.put`), for the
 * `ops`/`facts` types. Specs whose name is a plain `string` (no literal type)
 * are left out of the types, not of the objects.
 */
export type ModuleOf<T> = T extends { readonly name: infer N extends string }
  ? string extends N
    ? never
    : N extends `${infer M}.${string}`
      ? M
      : never
  : never;

/** The member of a spec's dotted name within module `M` (`put` of `files.put`). */
export type MemberOf<T, M extends string> = T extends { readonly name: `${M}.${infer O}` }
  ? O
  : never;
