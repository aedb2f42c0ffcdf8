// What `sandbox run` made, undone in reverse order whatever happens (success, failure, OOM,
// signal). Steps that undo independent things (the FUSE mount and the cgroup: neither needs the
// other gone) may share a group and run together, which shortens the teardown by the
// shorter of them (docs/code-measurements.md).

/** One undo step. */
export type UndoStep = () => Promise<void>;

/** A stack of undo steps; `run` undoes them newest first, each group's steps together. */
export class Teardown {
  private readonly groups: UndoStep[][] = [];

  /** Push a step. */
  push(step: UndoStep): void {
    this.groups.push([step]);
  }

  /** Add a step to the newest group: it runs together with the step pushed last. */
  alongside(step: UndoStep): void {
    const top = this.groups.at(-1);
    if (top) top.push(step);
    else this.groups.push([step]);
  }

  /** Run every group, newest first; a failing step is reported and the rest still run. */
  async run(report: (err: unknown) => void): Promise<void> {
    for (const group of [...this.groups].reverse()) await Promise.all(group.map((step) => step().catch(report)));
  }
}
