#!/bin/sh
# install-on-host.sh: run by the DaemonSet's init container (deploy/kubernetes/daemonset.yaml) to
# put the OCI hook onto the node. The node's directories are hostPath volumes under $HOST_ROOT:
#   $HOST_ROOT/opt/sandbox-procfs                  the hook's self-contained tree (node + bundle)
#   $HOST_ROOT/etc/containers/oci/hooks.d          hook definitions read by CRI-O, podman and
#   $HOST_ROOT/usr/share/containers/oci/hooks.d    containerd's NRI hook-injector (oci-hooks(5))
#   $MOUNT_DIR                                     the daemon's FUSE mount (same path as on the node)
# Order matters: CRI-O and the hook-injector reject a definition whose hook.path does not exist
# (containers/common pkg/hooks/1.0.0/hook.go Validate), and they watch hooks.d with inotify, so the
# tree is installed first and each definition appears by rename(2), never half-written.
set -eu
src=${SOURCE_ROOT:-/opt/sandbox-procfs}
host=${HOST_ROOT:-/host}
mount_dir=${MOUNT_DIR:-/run/sandbox-procfs/mnt}
say() { printf 'install-on-host: %s\n' "$*" >&2; }

# --- the tree: releases/<hash of the bundle>, and the symlink `current` swapped by rename(2), so a
# hook that starts during an upgrade runs either the old tree or the new one, whole.
base=$host/opt/sandbox-procfs
release=$(sha256sum "$src/app/dist/supervisor/sandbox.bundle.cjs" | cut -c1-12) # the code; main.cjs only loads it
mkdir -p "$base/releases"
if [ ! -d "$base/releases/$release" ]; then
  rm -rf "$base/releases/.tmp-$release"
  mkdir "$base/releases/.tmp-$release"
  cp -a "$src/bin" "$src/lib" "$src/app" "$base/releases/.tmp-$release/"
  mv "$base/releases/.tmp-$release" "$base/releases/$release"
  say "installed release $release"
fi
previous=$(readlink "$base/current" 2>/dev/null || true)
ln -sfn "releases/$release" "$base/.current-tmp"
mv -T "$base/.current-tmp" "$base/current"
# Keep the release just replaced (a hook may be running it); remove older ones.
for dir in "$base"/releases/*; do
  name=releases/${dir##*/}
  [ "$name" = "releases/$release" ] || [ "$name" = "$previous" ] || { rm -rf "$dir"; say "removed $name"; }
done

# --- the hook definitions, into every hooks.d the pod mounts.
for dir in "$host/etc/containers/oci/hooks.d" "$host/usr/share/containers/oci/hooks.d"; do
  [ -d "$dir" ] || continue
  for def in "$src"/hooks.d/*.json; do
    name=${def##*/}
    cp "$def" "$dir/.$name.tmp"
    mv -f "$dir/.$name.tmp" "$dir/$name"
  done
  say "hook definitions in ${dir#"$host"}"
done

# --- a FUSE mount left by a daemon that died answers ENOTCONN to every stat(2); detach it so the
# new daemon can mount (umount(8) -l is umount2(2) MNT_DETACH).
mkdir -p "$mount_dir"
if ! stat "$mount_dir" >/dev/null 2>&1; then
  say "detaching the dead mount on $mount_dir"
  umount -l "$mount_dir"
fi
