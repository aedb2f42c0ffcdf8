// The rules of oci-hooks(5) 1.0.0 hook definitions (containers/common pkg/hooks/1.0.0/hook.go
// Validate and when.go Match, as CRI-O, podman and containerd's NRI hook-injector apply them) and
// of the OCI runtime spec's hook entries (config.md "POSIX-platform Hooks"), stricter on one
// point: Go's json.Unmarshal ignores unknown keys, so a misspelled key ("stage", "annotation")
// silently drops a condition; here it is an error.

/** The hook stages of the OCI runtime spec 1.0.2+ (hook.go validStages). */
const OCI_STAGES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const unknownKeys = (o: Record<string, unknown>, known: string[]) => Object.keys(o).filter((k) => !known.includes(k));

/** A pattern Go's regexp (RE2) and JavaScript read alike: it compiles, and uses no lookaround or backreference (RE2 has neither). */
function regexError(what: string, pattern: unknown): string[] {
  if (typeof pattern !== 'string') return [`${what} must be a string`];
  if (/\(\?[=!<]|\\[1-9]/.test(pattern))
    return [`${what} ${JSON.stringify(pattern)} uses lookaround or a backreference (not in Go's RE2)`];
  try {
    new RegExp(pattern);
    return [];
  } catch (err) {
    return [`${what} ${JSON.stringify(pattern)} does not compile: ${(err as Error).message}`];
  }
}

/** Errors of one OCI hook entry {path, args, env, timeout} (empty = valid). */
function hookEntryErrors(hook: unknown, where: string): string[] {
  if (!isObject(hook)) return [`${where} must be an object`];
  const errors = unknownKeys(hook, ['path', 'args', 'env', 'timeout']).map(
    (k) => `${where}: unknown key ${JSON.stringify(k)}`,
  );
  if (typeof hook.path !== 'string' || !hook.path.startsWith('/'))
    errors.push(`${where}.path must be an absolute path (runtime spec), got ${JSON.stringify(hook.path)}`);
  if (
    hook.args !== undefined &&
    (!Array.isArray(hook.args) || hook.args.length === 0 || !hook.args.every((a) => typeof a === 'string'))
  ) {
    errors.push(`${where}.args must be a non-empty array of strings (args[0] is the program name)`);
  }
  if (
    hook.env !== undefined &&
    (!Array.isArray(hook.env) || !hook.env.every((e) => typeof e === 'string' && /^[^=]+=/.test(e)))
  ) {
    errors.push(`${where}.env must be an array of "KEY=value"`);
  }
  if (hook.timeout !== undefined && !(Number.isInteger(hook.timeout) && (hook.timeout as number) > 0)) {
    errors.push(`${where}.timeout must be a positive integer (seconds), got ${JSON.stringify(hook.timeout)}`);
  }
  return errors;
}

/** Errors of a hooks.d definition (schema 1.0.0) (empty = valid). */
export function hookDefinitionErrors(def: unknown): string[] {
  if (!isObject(def)) return ['the definition must be a JSON object'];
  const errors = unknownKeys(def, ['version', 'hook', 'when', 'stages']).map((k) => `unknown key ${JSON.stringify(k)}`);
  if (def.version !== '1.0.0') errors.push(`version must be "1.0.0", got ${JSON.stringify(def.version)}`);
  errors.push(...hookEntryErrors(def.hook, 'hook'));
  const when = def.when;
  if (!isObject(when)) {
    errors.push('when must be an object');
  } else {
    errors.push(
      ...unknownKeys(when, ['always', 'annotations', 'commands', 'hasBindMounts']).map(
        (k) => `when: unknown key ${JSON.stringify(k)}`,
      ),
    );
    const conditions = ['always', 'annotations', 'commands', 'hasBindMounts'].filter((k) => when[k] !== undefined);
    if (conditions.length === 0)
      errors.push('when must set at least one condition (always, annotations, commands, hasBindMounts)');
    for (const k of ['always', 'hasBindMounts'])
      if (when[k] !== undefined && typeof when[k] !== 'boolean') errors.push(`when.${k} must be a boolean`);
    if (when.annotations !== undefined) {
      if (!isObject(when.annotations) || Object.keys(when.annotations).length === 0)
        errors.push('when.annotations must be a non-empty object');
      else
        for (const [k, v] of Object.entries(when.annotations))
          errors.push(...regexError('annotation key', k), ...regexError(`annotation value of ${k}`, v));
    }
    if (when.commands !== undefined) {
      if (!Array.isArray(when.commands) || when.commands.length === 0)
        errors.push('when.commands must be a non-empty array');
      else for (const [i, c] of when.commands.entries()) errors.push(...regexError(`when.commands[${i}]`, c));
    }
  }
  const stages = def.stages;
  if (!Array.isArray(stages) || stages.length === 0) errors.push('stages must be a non-empty array');
  else {
    for (const s of stages)
      if (!(OCI_STAGES as readonly unknown[]).includes(s)) errors.push(`unknown stage ${JSON.stringify(s)}`);
    if (new Set(stages).size !== stages.length) errors.push('stages lists a stage twice');
  }
  return errors;
}

/** Errors of an OCI config.json "hooks" object ({stage: [hook, …]}) (empty = valid). */
export function hooksObjectErrors(hooks: unknown): string[] {
  if (!isObject(hooks)) return ['hooks must be an object'];
  const errors: string[] = [];
  for (const [stage, list] of Object.entries(hooks)) {
    if (!(OCI_STAGES as readonly string[]).includes(stage)) errors.push(`unknown stage ${JSON.stringify(stage)}`);
    if (!Array.isArray(list)) errors.push(`${stage} must be an array`);
    else for (const [i, h] of list.entries()) errors.push(...hookEntryErrors(h, `${stage}[${i}]`));
  }
  return errors;
}

/**
 * Whether a definition's `when.annotations` matches these annotations, as when.go Match does it:
 * every key pattern must match some annotation key whose value matches the value pattern (Go's
 * regexp.MatchString: unanchored, so the patterns carry their own ^ and $).
 */
export function annotationsMatch(when: Record<string, string>, annotations: Record<string, string>): boolean {
  return Object.entries(when).every(([kp, vp]) =>
    Object.entries(annotations).some(([k, v]) => new RegExp(kp).test(k) && new RegExp(vp).test(v)),
  );
}
