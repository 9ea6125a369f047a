// hello.cpp - libjacnet from C++ (C++11): the C handles owned by
// std::unique_ptr with the library's free functions as deleters, and every
// failing call turned into an exception carrying jn_last_error().
//
// A 2-8-2 network learns which side of the line x0 + x1 = 0 a point lies on,
// with the Jacobian penalty on; the program prints the training error
// before and after and exits 1 unless training brought it under 5%.
#include <jacnet.h>

#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

void check(jn_status st, const char *what)
{
    if (st != JN_OK) throw std::runtime_error(std::string(what) + ": " + jn_last_error());
}

// One owning pointer type per handle: the deleter is the C *_free.
template <typename T, void (*Free)(T *)> struct deleter {
    void operator()(T *p) const { Free(p); }
};
using net_ptr = std::unique_ptr<jn_net, deleter<jn_net, jn_net_free>>;
using objective_ptr = std::unique_ptr<jn_objective, deleter<jn_objective, jn_objective_free>>;
using optimizer_ptr = std::unique_ptr<jn_optimizer, deleter<jn_optimizer, jn_optimizer_free>>;
using dataset_ptr = std::unique_ptr<jn_dataset, deleter<jn_dataset, jn_dataset_free>>;
using trainer_ptr = std::unique_ptr<jn_trainer, deleter<jn_trainer, jn_trainer_free>>;

}  // namespace

int main()
{
    try {
        std::printf("libjacnet %s (header %d.%d.%d)\n", jn_version_string(), JN_VERSION_MAJOR, JN_VERSION_MINOR,
                    JN_VERSION_PATCH);
        const size_t n = 400;
        std::vector<float> X(n * 2);
        std::vector<int32_t> y(n);
        std::mt19937 gen(7);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (size_t i = 0; i < n; i++) {
            X[2 * i] = uniform(gen);
            X[2 * i + 1] = uniform(gen);
            y[i] = X[2 * i] + X[2 * i + 1] > 0.0f ? 1 : 0;
        }
        jn_dataset *raw_ds = nullptr;
        check(jn_dataset_create(&raw_ds, X.data(), y.data(), n, 2, 2, 0), "jn_dataset_create");
        dataset_ptr data(raw_ds);

        const size_t sizes[] = {2, 8, 2};
        jn_net *raw_net = nullptr;
        check(jn_net_create(&raw_net, sizes, 3, JN_ACT_TANH, JN_ACT_SIGMOID), "jn_net_create");
        net_ptr net(raw_net);
        check(jn_net_init(net.get(), 1), "jn_net_init");

        jn_objective *raw_obj = nullptr;
        check(jn_objective_create_model(&raw_obj, JN_MODEL_MLP_NJ, 0.01, 0.1), "jn_objective_create_model");
        objective_ptr obj(raw_obj);
        jn_optimizer *raw_opt = nullptr;
        check(jn_optimizer_create_sgd(&raw_opt, 0.05, 0.9), "jn_optimizer_create_sgd");  // the recipe's
        optimizer_ptr opt(raw_opt);
        jn_trainer *raw_tr = nullptr;
        check(jn_trainer_create(&raw_tr), "jn_trainer_create");
        trainer_ptr trainer(raw_tr);
        check(jn_trainer_set_batch_size(trainer.get(), 20), "jn_trainer_set_batch_size");
        check(jn_trainer_set_epochs(trainer.get(), 20), "jn_trainer_set_epochs");

        double before = 1.0, after = 1.0;
        check(jn_net_error_rate(net.get(), data.get(), &before), "jn_net_error_rate");
        check(jn_trainer_run(trainer.get(), net.get(), obj.get(), opt.get(), data.get(), nullptr), "jn_trainer_run");
        check(jn_net_error_rate(net.get(), data.get(), &after), "jn_net_error_rate");
        std::printf("training error: %.1f%% before, %.1f%% after 20 epochs\n", 100.0 * before, 100.0 * after);
        return after < 0.05 ? 0 : 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "hello.cpp: %s\n", e.what());
        return 1;
    }
}
