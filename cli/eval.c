/* eval.c - `jacnet eval MODEL`: the test error of a saved model, also with
 * Gaussian noise of several standard deviations added to the test inputs
 * (the report's Figure 2), each drawn from a fixed seed, and under
 * adversarial attacks (attack.c). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Mean ||J_F||^2 and ||H_F||^2 over the clean inputs, in chunks so the
 * scratch stays small; sums in double. */
static jn_status curvature(jn_net *net, const jn_dataset *ds, double *mean_j, double *mean_h)
{
    enum { CHUNK = 256 };
    float out_j[CHUNK], out_h[CHUNK];
    size_t n = jn_dataset_count(ds), dim = jn_dataset_dim(ds);
    const float *X = jn_dataset_features(ds);
    double sj = 0, sh = 0;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        jn_status st = jn_net_jacobian_sqnorm(net, X + i * dim, m, out_j);
        if (st == JN_OK) st = jn_net_hessian_sqnorm(net, X + i * dim, m, out_h);
        if (st != JN_OK) return st;
        for (size_t k = 0; k < m; k++) {
            sj += out_j[k];
            sh += out_h[k];
        }
    }
    *mean_j = sj / (double)n;
    *mean_h = sh / (double)n;
    return JN_OK;
}

/* Does the file begin with a checkpoint's magic (docs/FORMAT.md)? A user
 * may well take the .jnc a run left for its model. */
static int is_checkpoint(const char *path)
{
    static const unsigned char magic[8] = {0x89, 'J', 'N', 'C', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    int yes = f && fread(head, 1, 8, f) == 8 && !memcmp(head, magic, 8);
    if (f) fclose(f);
    return yes;
}

int cmd_eval(int argc, char **argv)
{
    data_spec data = {0};
    const char *noise_list = "0", *split = "test", *json = NULL;
    const char *attack = NULL, *eps_list = NULL, *steps = NULL, *step_size = NULL;
    uint64_t seed = 1;
    unsigned threads = 0;
    int want_curvature = 0;
    double mean_j = -1, mean_h = -1;
    const opt_spec specs[] = {
        {"dataset", OPT_STRING, &data.dataset, "NAME", "mnist, mnist-binary or usps", 0, 0},
        {"data-dir", OPT_STRING, &data.data_dir, "DIR", "where --dataset lives (else $JACNET_DATA, else ./data)", 0, 0},
        {"test", OPT_STRING, &data.test, "FILE", "evaluate this file instead: IMAGES,LABELS, *.csv[.gz] or USPS", 0, 0},
        {"input-scale", OPT_STRING, &data.input_scale, "S", "01 or pm1: the scale the model was trained at (train --input-scale)", 0, 0},
        {"split", OPT_STRING, &split, "NAME", "with --dataset: test, valid or train", 0, 0},
        {"noise-std", OPT_STRING, &noise_list, "S[,S..]", "Gaussian noise stds added to the inputs", 0, 0},
        {"attack", OPT_STRING, &attack, "KIND", "fgsm or pgd: error under an L-infinity attack on the squared error", 0, 0},
        {"eps", OPT_STRING, &eps_list, "E[,E..]", "with --attack: the attack's radii (inputs stay in the data's range)", 0, 0},
        {"steps", OPT_STRING, &steps, "N", "with --attack pgd: steps (default 10)", 0, 0},
        {"step-size", OPT_STRING, &step_size, "A", "with --attack pgd: step (default 2.5 eps / N)", 0, 0},
        {"seed", OPT_U64, &seed, "S", "seed of the noise and of PGD's random start", 0, 1.8e19},
        {"threads", OPT_UINT, &threads, "T", "threads (BLAS held at 1; the library splits the products; 0: $JACNET_THREADS, else every CPU)", 0, 256},
        {"curvature", OPT_FLAG, &want_curvature, NULL, "also mean ||J_F||^2 and ||H_F||^2 over the clean inputs", 0, 0},
        {"json", OPT_STRING, &json, "FILE", "write the results as JSON", 0, 0},
        {0},
    };
    const char *pos[1];
    size_t n_pos;
    int rc = parse_options("eval", "MODEL.jn [options]  (--dataset NAME | --test FILE)", specs, argc, argv, 2, pos, 1,
                           &n_pos);
    if (rc) return rc < 0 ? 0 : rc;
    if (n_pos != 1) return usage_error("eval", "give one model file");
    double stds[64];
    int n_std = parse_list(noise_list, stds, 64);
    if (n_std <= 0) return usage_error("eval", "--noise-std '%s': a list of numbers >= 0", noise_list);
    if (!data.dataset && !data.test) return usage_error("eval", "give --dataset NAME or --test FILE");
    if (data.dataset && data.test) return usage_error("eval", "give either --dataset or --test, not both");
    int which = !strcmp(split, "test") ? 0 : !strcmp(split, "valid") ? 1 : !strcmp(split, "train") ? 2 : -1;
    if (which < 0) return usage_error("eval", "--split '%s': test, valid or train", split);
    if (data.test) which = 0;
    attack_spec atk;
    if ((rc = attack_parse(attack, eps_list, steps, step_size, seed, &atk)) != 0) return rc;
    if (data_check_scale("eval", data.input_scale)) return EXIT_USAGE;
    threads = cli_threads(threads);
    if (threads && jn_set_threads((int)threads) != JN_OK) {
        fprintf(stderr, "jacnet eval: %s\n", cli_plain_error(jn_last_error()));
        return EXIT_USAGE;
    }

    jn_net *net = NULL;
    jn_status st = jn_net_load(&net, pos[0]);
    if (st != JN_OK) {
        if (is_checkpoint(pos[0]))
            fprintf(stderr, "jacnet eval: %s is a training checkpoint (train --checkpoint), not a model: run the train "
                    "command that wrote it again with --save MODEL.jn (it resumes from the checkpoint; a finished run "
                    "is only saved), then evaluate MODEL.jn\n", pos[0]);
        else
            fprintf(stderr, "jacnet eval: cannot load %s: %s\n", pos[0], cli_plain_error(jn_last_error()));
        return EXIT_RUN;
    }
    data_sets sets;
    if ((rc = data_load(&data, which == 0, &sets)) != 0) {
        jn_net_free(net);
        return rc;
    }
    const jn_dataset *ds = which == 0 ? sets.test : which == 1 ? sets.valid : sets.train;
    size_t n = jn_dataset_count(ds), dim = jn_dataset_dim(ds);
    double errors[64], atk_error[64], atk_loss[64];
    float *noisy = malloc(n * dim * sizeof *noisy);
    jn_rng *rng = NULL;
    rc = EXIT_RUN;
    if (!noisy) { fprintf(stderr, "jacnet eval: out of memory\n"); goto done; }
    /* The data must fit the model, said in the user's terms (the library
     * would name its argument, ds). One output scores two classes. */
    char what[4200];
    if (data.test) snprintf(what, sizeof what, "--test %s", data.test);
    else snprintf(what, sizeof what, "--dataset %s (%s split)", data.dataset, split);
    size_t inputs = jn_net_size(net, 0), outputs = jn_net_size(net, jn_net_layers(net)), k = jn_dataset_classes(ds);
    if (dim != inputs) {
        fprintf(stderr, "jacnet eval: %s: %zu features, %s takes %zu\n", what, dim, pos[0], inputs);
        rc = EXIT_USAGE;
        goto done;
    }
    if (k > (outputs == 1 ? 2 : outputs)) {
        fprintf(stderr, "jacnet eval: %s: labels up to %zu, %s has %zu outputs\n", what, k - 1, pos[0], outputs);
        rc = EXIT_USAGE;
        goto done;
    }
    for (int s = 0; s < n_std; s++) {
        jn_dataset *view = NULL;
        /* Every noise level starts from the same seed: the curves differ only by std. */
        st = jn_rng_create(&rng, seed);
        if (st == JN_OK) st = jn_corrupt(rng, stds[s] > 0 ? JN_NOISE_GAUSSIAN : JN_NOISE_NONE, stds[s],
                                         jn_dataset_features(ds), noisy, n * dim);
        if (st == JN_OK) st = jn_dataset_create(&view, noisy, jn_dataset_labels(ds), n, dim, jn_dataset_classes(ds),
                                                JN_DATASET_BORROW);
        if (st == JN_OK) st = jn_net_error_rate(net, view, &errors[s]);
        jn_dataset_free(view);
        jn_rng_free(rng);
        rng = NULL;
        if (st != JN_OK) { fprintf(stderr, "jacnet eval: %s\n", cli_plain_error(jn_last_error())); goto done; }
        printf("noise std %-6g error %.2f%%\n", stds[s], 100.0 * errors[s]);
    }
    if (atk.kind)
        attack_range(ds, data.dataset != NULL, data.input_scale && !strcmp(data.input_scale, "pm1"), &atk);
    for (int e = 0; atk.kind && e < atk.n_eps; e++) {
        if (attack_eval(net, ds, &atk, atk.eps[e], &atk_error[e], &atk_loss[e])) goto done;
        char step[64] = "";
        if (atk.pgd) snprintf(step, sizeof step, " (%u steps of %g)", atk.steps, attack_step(&atk, atk.eps[e]));
        printf("%s eps %-6g error %.2f%%  loss %.6g%s\n", atk.kind, atk.eps[e], 100.0 * atk_error[e], atk_loss[e],
               step);
    }
    if (want_curvature) {
        if ((st = curvature(net, ds, &mean_j, &mean_h)) != JN_OK) {
            fprintf(stderr, "jacnet eval: %s\n", cli_plain_error(jn_last_error()));
            goto done;
        }
        printf("mean ||J_F||^2 %.6g  mean ||H_F||^2 %.6g  (%zu examples)\n", mean_j, mean_h, n);
    }
    rc = 0;
    if (json) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) { rc = EXIT_RUN; goto done; }
        json_out j;
        json_begin(&j, f);
        json_open(&j, '{');
        json_str(&j, "tool", "jacnet eval");
        json_str(&j, "model", pos[0]);
        json_str(&j, "dataset", data.dataset ? data.dataset : data.test); /* the file evaluated */
        json_str(&j, "split", data.dataset ? split : "file");
        json_str(&j, "input_scale", data.input_scale ? data.input_scale : "01");
        json_int(&j, "examples", (long long)n);
        json_int(&j, "seed", (long long)seed);
        if (want_curvature) {
            json_num(&j, "mean_jacobian_sqnorm", mean_j);
            json_num(&j, "mean_hessian_sqnorm", mean_h);
        }
        json_key(&j, "results");
        json_open(&j, '[');
        for (int s = 0; s < n_std; s++) {
            json_key(&j, NULL);
            json_open(&j, '{');
            json_num(&j, "noise_std", stds[s]);
            json_num(&j, "error", errors[s]);
            json_close(&j, '}');
        }
        json_close(&j, ']');
        if (atk.kind) attack_record(&j, &atk, atk_error, atk_loss);
        json_close(&j, '}');
        fclose(f);
        if (write_file_atomic(json, text, len)) rc = EXIT_RUN;
        free(text);
    }
done:
    free(noisy);
    data_free(&sets);
    jn_net_free(net);
    return rc;
}
