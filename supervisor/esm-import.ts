// import() of an ES module (the bench, dist/bench/run.js) from the bundled CLI. The bundle runs
// compiled by vm.Script (supervisor/main.cts, for the V8 code cache), and an import() inside such
// a script fails unless the Script was given importModuleDynamically, which Node 20 only honours
// with --experimental-vm-modules (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG, lib/internal/vm.js)
// or with an experimental constant that prints a warning. So the loader passes its own import()
// in as the bundle wrapper's parameter `__sandboxImport`; anywhere else (tsc's dist/, tests) this
// is the plain import().

declare const __sandboxImport: ((specifier: string) => Promise<unknown>) | undefined;

/** import(specifier), through the loader's import() when the code runs inside the bundle. */
export function importEsm(specifier: string): Promise<unknown> {
  return typeof __sandboxImport === 'function' ? __sandboxImport(specifier) : import(specifier);
}
