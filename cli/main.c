/* main.c - `jacnet`: train, evaluate and sweep the report's models from the
 * command line (docs/CLI.md, man page jacnet(1)). */
#include "cli.h"

#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: jacnet COMMAND [options]\n\n"
               "commands:\n"
               "  train    train one model, print the test error, write a JSON record\n"
               "  eval     test error of a saved model, also under Gaussian input noise\n"
               "  sweep    train a grid of models, select by validation error, resumable\n"
               "  version  print the library version\n\n"
               "'jacnet COMMAND --help' lists a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    cli_openmp_passive(argc, argv);
    if (!strcmp(cmd, "train")) return cmd_train(argc, argv);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(cmd, "sweep")) return cmd_sweep(argc, argv);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        int help = argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"));
        if (argc > 2 && !help) return usage_error("version", "takes no options");
        if (help) printf("usage: jacnet version\n\nprints the version of jacnet (its libjacnet):\n");
        printf("jacnet %s\n", jn_version_string());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "jacnet: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
