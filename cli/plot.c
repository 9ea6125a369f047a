/* plot.c - `jacnet train --plot PNG`: the learning curves of the run's
 * record, drawn by `python3 -m jacnet.plot`. The interpreter is found before
 * training (a run of hours must not end without its picture for want of
 * matplotlib): $JACNET_PYTHON alone when set; else the python3 that `make
 * install` installs the package for (JACNET_PYTHON_DEFAULT, the Makefile's
 * PYTHON), then python3 on PATH; the first that imports jacnet.plot and
 * matplotlib draws. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef JACNET_PYTHON_DEFAULT
#define JACNET_PYTHON_DEFAULT "/usr/bin/python3"
#endif

/* Run python with args (NULL-terminated, after argv[0]); its stdout's first
 * line into out (may be NULL), stderr discarded unless keep_stderr. Returns
 * the exit status, or -1 when it could not run. */
static int run_python(const char *python, const char *const *args, char *out, size_t size, int keep_stderr)
{
    int fds[2];
    if (out && pipe(fds) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[8] = {python};
        for (int i = 0; args[i] && i < 6; i++) argv[i + 1] = args[i];
        if (out) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
        }
        int null_fd = keep_stderr ? -1 : open("/dev/null", O_WRONLY);
        if (null_fd >= 0) dup2(null_fd, STDERR_FILENO);
        execvp(python, (char *const *)argv);
        dprintf(STDOUT_FILENO, "cannot run it: %s\n", strerror(errno)); /* no stdio buffer: _exit drops it */
        _exit(127);
    }
    size_t got = 0;
    if (out) {
        close(fds[1]);
        char buf[256];
        ssize_t n;
        while (pid > 0 && (n = read(fds[0], buf, sizeof buf)) > 0) { /* all of it: a full pipe would block the child */
            size_t keep = (size_t)n < size - 1 - got ? (size_t)n : size - 1 - got;
            memcpy(out + got, buf, keep);
            got += keep;
        }
        close(fds[0]);
        out[got] = '\0';
        out[strcspn(out, "\n")] = '\0';
    }
    int ws;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0) return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* Can `python` draw? Else why not, in why. */
static int can_draw(const char *python, char *why, size_t size)
{
    static const char probe[] = "import sys\n"
                                "try:\n"
                                "    import numpy, matplotlib, jacnet.plot\n"
                                "except Exception as e:\n"
                                "    print(e)\n"
                                "    sys.exit(1)\n";
    const char *args[] = {"-c", probe, NULL};
    int st = run_python(python, args, why, size, 0);
    if (st != 0 && !*why) snprintf(why, size, "exit status %d", st);
    return st == 0;
}

const char *plot_python(void)
{
    const char *env = getenv("JACNET_PYTHON");
    const char *candidates[] = {JACNET_PYTHON_DEFAULT, "python3"};
    char why[2][160], tried[600] = "";
    if (env && *env) {
        if (can_draw(env, why[0], sizeof why[0])) return env;
        fprintf(stderr, "jacnet train: --plot: JACNET_PYTHON=%s cannot draw (%s); it needs numpy, matplotlib and the "
                "jacnet package\n", env, why[0]);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (i == 1 && !strcmp(candidates[0], candidates[1])) break;
        if (can_draw(candidates[i], why[i], sizeof why[i])) return candidates[i];
        size_t len = strlen(tried);
        snprintf(tried + len, sizeof tried - len, "%s%s: %s", i ? "; " : "", candidates[i], why[i]);
    }
    fprintf(stderr, "jacnet train: --plot: no python3 can draw (%s); it needs numpy, matplotlib and the jacnet "
            "package (apt-get install python3-matplotlib, make install-python), or set JACNET_PYTHON to one that has "
            "them\n", tried);
    return NULL;
}

int plot_record(const char *python, const char *record, const char *png)
{
    const char *args[] = {"-m", "jacnet.plot", record, "-o", png, NULL};
    if (run_python(python, args, NULL, 0, 1) == 0) return 0;
    fprintf(stderr, "jacnet train: --plot: no picture drawn (%s -m jacnet.plot failed)\n", python);
    return EXIT_RUN;
}
