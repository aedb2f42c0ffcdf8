// Validates Kubernetes manifests against the Kubernetes API schemas as packaged by
// kubernetes-models (generated from the Kubernetes OpenAPI spec), in two passes:
//  - its compiled JSON-schema validators: types, enums, required fields, formats;
//  - its TypeScript interfaces, through the TypeScript compiler: the OpenAPI schemas allow unknown
//    properties (the API server drops them, or rejects them only with fieldValidation=Strict),
//    so a misspelled field passes the first pass; an object literal typed with the interface gets
//    TypeScript's excess-property check at every depth, which names it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

/** A parsed manifest document and where it came from (for messages). */
export interface Manifest {
  source: string;
  doc: Record<string, unknown>;
}

/** kubernetes-models' module for apiVersion/kind: core "v1" lives at v1/, group/version at group/version/. */
function modelModule(doc: Record<string, unknown>): string {
  const { apiVersion, kind } = doc;
  if (
    typeof apiVersion !== 'string' ||
    typeof kind !== 'string' ||
    !/^[A-Za-z0-9./-]+$/.test(apiVersion) ||
    !/^[A-Za-z]+$/.test(kind)
  ) {
    throw new Error(`manifest without a usable apiVersion/kind: ${JSON.stringify({ apiVersion, kind })}`);
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** Pass 1: the JSON-schema validator of the object's kind; one line per error (empty = valid). */
export function schemaErrors(m: Manifest): string[] {
  const mod = modelModule(m.doc);
  const kind = m.doc.kind as string;
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = (require(mod) as Record<string, new (data: unknown) => { validate(): void }>)[kind]!;
  } catch (err) {
    return [
      `${m.source}: no Kubernetes schema for ${m.doc.apiVersion} ${kind} (${(err as Error).message.split('\n')[0]})`,
    ];
  }
  try {
    new Model(m.doc).validate();
    return [];
  } catch (err) {
    return (err as Error).message.split(/,\s*(?=data\/)/).map((line) => `${m.source}: ${line.trim()}`);
  }
}

/** Pass 2: TypeScript's check of each manifest as a literal of its kind's interface; one line per error. */
export function typeErrors(manifests: Manifest[]): string[] {
  const files = new Map<string, { m: Manifest; text: string }>();
  manifests.forEach((m, i) => {
    const kind = m.doc.kind as string;
    const text = `import type { I${kind} } from '${modelModule(m.doc)}';\nexport const manifest: I${kind} = ${JSON.stringify(m.doc, null, 2)};\n`;
    files.set(`${ROOT}test/.k8s-manifest-${i}.ts`, { m, text });
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
    lib: ['lib.es2022.d.ts'],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f)?.text ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) => {
    const virtual = files.get(f);
    return virtual ? ts.createSourceFile(f, virtual.text, lang) : getSourceFile.call(host, f, lang, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const virtual = d.file ? files.get(d.file.fileName) : undefined;
    const where =
      virtual && d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const lineText = where && virtual ? virtual.text.split('\n')[where.line]?.trim() : '';
    errors.push(
      `${virtual?.m.source ?? d.file?.fileName ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}${lineText ? ` (at ${lineText})` : ''}`,
    );
  }
  return errors;
}
