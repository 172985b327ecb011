# The libFuzzer programs (make fuzz; tests/fuzz/README.md). GNU make reads
# this together with the build folder's Makefile, whose variables it uses:
#     make -f Makefile -f tests/fuzz/fuzz.make fuzz-programs
# The library's sources are compiled again with $(FUZZ_CC), instrumented
# for coverage and the sanitizers, into tests/fuzz/build; each harness
# links them with libFuzzer's main.
FZ_OUT = tests/fuzz/build
FZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FZ_CPPFLAGS = $(DEFS) $(DEFAULT_INCLUDES) $(FUZZ_REPLAY_CPPFLAGS) -I$(TB_RANDOM123_INCLUDE) $(CPPFLAGS)
FZ_LIB_OBJS = $(patsubst %.c,$(FZ_OUT)/obj/%.o,$(filter %.c,$(libtwinbrain_la_SOURCES)))
FZ_PROGRAMS = $(FUZZ_HARNESSES:%=$(FZ_OUT)/fuzz_%)

fuzz-programs: $(FZ_PROGRAMS)

$(FZ_OUT)/obj/%.o: $(srcdir)/%.c
	@mkdir -p $(@D)
	$(AM_V_CC)$(FUZZ_CC) $(FZ_CPPFLAGS) $(AM_CFLAGS) $(FZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FZ_OUT)/fuzz_%: $(FZ_OUT)/obj/tests/fuzz/fuzz_%.o $(FZ_LIB_OBJS)
	$(AM_V_CCLD)$(FUZZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(OPENCL_LIBS) $(HDF5_LIBS) $(LTDL_LIBS) -lm $(LIBS)

.PHONY: fuzz-programs
.SECONDARY:
-include $(FZ_LIB_OBJS:.o=.d) $(FUZZ_HARNESSES:%=$(FZ_OUT)/obj/tests/fuzz/fuzz_%.d)
