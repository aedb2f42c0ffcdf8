// Minimal types for fuse-native 2.x (the package ships none): only what procfs/fs.ts uses.
declare module 'fuse-native' {
  namespace Fuse {
  interface Stat {
    mtime: Date;
    atime: Date;
    ctime: Date;
    size: number;
    mode: number;
    uid: number;
    gid: number;
    nlink?: number;
  }
  interface Operations {
    init?(cb: (err: number) => void): void;
    getattr?(path: string, cb: (err: number, stat?: Stat) => void): void;
    readdir?(path: string, cb: (err: number, names?: string[]) => void): void;
    open?(path: string, flags: number, cb: (err: number, fd?: number) => void): void;
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void): void;
    release?(path: string, fd: number, cb: (err: number) => void): void;
  }
  interface Options {
    allowOther?: boolean;
    autoUnmount?: boolean;
    force?: boolean;
    mkdir?: boolean;
    fsname?: string;
    subtype?: string;
    entryTimeout?: number;
    attrTimeout?: number;
    maxRead?: number;
    timeout?: number | false;
  }
  }
  class Fuse {
    constructor(mountpoint: string, ops: Operations, opts?: Options);
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mountpoint: string, cb: (err: Error | null) => void): void;
    static ENOENT: number;
    static EACCES: number;
    static EBADF: number;
    static EIO: number;
    static EISDIR: number;
  }
  export = Fuse;
}
