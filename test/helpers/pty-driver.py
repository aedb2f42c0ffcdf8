# Test helper: run a command on a new pseudo-terminal (python3's pty module), as a user at a terminal
# would: argv[1] is a JSON list of steps, the rest the command. Steps: ["wait", seconds] (collect
# output meanwhile), ["until", text, seconds] (collect until text appears), ["send", text],
# ["resize", rows, cols] (TIOCSWINSZ on the master: the kernel sends SIGWINCH to the terminal's
# foreground group). Prints {"out": ..., "code": ...} as JSON once the command has exited.
import fcntl, json, os, pty, select, struct, sys, termios, time

steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
out = b''

def pump(seconds, until=None):
    global out
    end = time.time() + seconds
    while time.time() < end:
        if until is not None and until.encode() in out:
            return
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            out += data

for step in steps:
    if step[0] == 'wait':
        pump(step[1])
    elif step[0] == 'until':
        pump(step[2], step[1])
    elif step[0] == 'send':
        os.write(fd, step[1].encode())
    elif step[0] == 'resize':
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', step[1], step[2], 0, 0))
pump(20)
_, status = os.waitpid(pid, 0)
print(json.dumps({'out': out.decode(errors='replace'), 'code': os.waitstatus_to_exitcode(status)}))
