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

/**
 * `ops`/`facts` as nested objects built from dotted names (`files.put` ->
 * `tree.files.put`). Reading a name that is not there throws `UnknownNameError`
 * with the closest one ("no operation files.dirctory; did you mean files.directory?")
 * instead of leaving `undefined` to fail as "is not a function".
 */
export function nameTree<TSpec extends { readonly name: string }, TBound>(
  kind: 'operation' | 'fact',
  specs: readonly TSpec[],
  bind: (spec: TSpec) => TBound,
): Record<string, Record<string, TBound>> {
  const names = specs.map((spec) => spec.name);
  const modules: Record<string, Record<string, TBound>> = {};
  for (const spec of specs) {
    const dot = spec.name.lastIndexOf('.');
    const module = spec.name.slice(0, dot);
    const member = spec.name.slice(dot + 1);
    modules[module] ??= {};
    if (Object.hasOwn(modules[module], member)) {
      throw new TypeError(`Two ${kind}s are named ${spec.name}: each name must be unique.`);
    }
    modules[module][member] = bind(spec);
  }
  const guard = <T extends object>(target: T, prefix: string): T =>
    new Proxy(target, {
      get(object, key, receiver) {
        if (typeof key === 'symbol' || PROBED_KEYS.has(key) || Object.hasOwn(object, key)) {
          return Reflect.get(object, key, receiver);
        }
        if (prefix === '') {
          throw new UnknownNameError(`${kind} group`, key, Object.keys(modules));
        }
        throw new UnknownNameError(kind, `${prefix}${key}`, names);
      },
    });
  const tree: Record<string, Record<string, TBound>> = {};
  for (const [module, members] of Object.entries(modules)) {
    tree[module] = guard(members, `${module}.`);
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
