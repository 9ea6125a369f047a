# mk/checkpoint.mk - training checkpoints and blow-up recovery: private
# header dependencies (the main rules only know internal.h and jacnet.h).
$(BUILD)/obj/binio.o $(BUILD)/obj/model_file.o $(BUILD)/obj/checkpoint.o: src/binio.h
$(BUILD)/obj/trainer.o $(BUILD)/obj/checkpoint.o: src/run.h src/binio.h
$(BUILD)/obj/checkpoint.o: src/model_file.h src/reader.h
build/fuzz/obj/binio.o build/fuzz/obj/model_file.o build/fuzz/obj/checkpoint.o: src/binio.h
build/fuzz/obj/trainer.o build/fuzz/obj/checkpoint.o: src/run.h
