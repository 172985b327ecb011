# The clang builds of the fuzz harnesses (tests/fuzz/README.md). GNU make
# reads this together with the build folder's Makefile, whose variables it
# uses:
#     make -f Makefile -f tests/fuzz/fuzz.make fuzz-programs
#     make -f Makefile -f tests/fuzz/fuzz.make coverage-programs
# The library's sources are compiled again with $(FUZZ_CC) into a folder of
# their own: for fuzz-programs (tests/fuzz/build) instrumented for libFuzzer
# and the sanitizers, each harness linked with libFuzzer's main; for
# coverage-programs (tests/fuzz/coverage) instrumented for source-based
# coverage, each harness linked with replay.c's main (make fuzz-coverage).
FZ_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all
fuzz-programs: FZ_OUT = tests/fuzz/build
fuzz-programs: FZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(FZ_SANITIZE) -fsanitize=fuzzer-no-link
fuzz-programs: FZ_LDFLAGS = -g $(FZ_SANITIZE) -fsanitize=fuzzer
coverage-programs: FZ_OUT = tests/fuzz/coverage
coverage-programs: FZ_CFLAGS = -g -O0 -fprofile-instr-generate -fcoverage-mapping
coverage-programs: FZ_LDFLAGS = -fprofile-instr-generate

# The library's own flags and libraries: they follow configure (MPI,
# protobuf-c for the twin kit) and the kits' fragments.
FZ_CPPFLAGS = $(DEFS) $(DEFAULT_INCLUDES) $(FUZZ_REPLAY_CPPFLAGS) $(libtwinbrain_la_CPPFLAGS) $(CPPFLAGS)
FZ_LIBS = $(libtwinbrain_la_LIBADD) $(LIBS)
FZ_LIB_C = $(filter %.c,$(libtwinbrain_la_SOURCES) $(nodist_libtwinbrain_la_SOURCES))
fz_lib_objs = $(patsubst %.c,$(1)/obj/%.o,$(FZ_LIB_C))

fuzz-programs: $(FUZZ_HARNESSES:%=tests/fuzz/build/fuzz_%)
coverage-programs: $(FUZZ_HARNESSES:%=tests/fuzz/coverage/replay_%)

tests/fuzz/build/obj/%.o tests/fuzz/coverage/obj/%.o: $(srcdir)/%.c
	@mkdir -p $(@D)
	$(AM_V_CC)$(FUZZ_CC) $(FZ_CPPFLAGS) $(AM_CFLAGS) $(FZ_CFLAGS) -MMD -MP -c -o $@ $<
# generated sources (protoc-c's) are in the build folder
tests/fuzz/build/obj/%.o tests/fuzz/coverage/obj/%.o: %.c
	@mkdir -p $(@D)
	$(AM_V_CC)$(FUZZ_CC) $(FZ_CPPFLAGS) $(AM_CFLAGS) $(FZ_CFLAGS) -MMD -MP -c -o $@ $<

# replay.c once per harness: it names the harness's folders.
tests/fuzz/coverage/obj/replay_%.o: $(srcdir)/tests/fuzz/replay.c
	@mkdir -p $(@D)
	$(AM_V_CC)$(FUZZ_CC) $(FZ_CPPFLAGS) -DFUZZ_NAME='"$*"' $(AM_CFLAGS) $(FZ_CFLAGS) -MMD -MP -c -o $@ $<

tests/fuzz/build/fuzz_%: tests/fuzz/build/obj/tests/fuzz/fuzz_%.o $(call fz_lib_objs,tests/fuzz/build)
	$(AM_V_CCLD)$(FUZZ_CC) $(FZ_LDFLAGS) -o $@ $^ $(FZ_LIBS)

tests/fuzz/coverage/replay_%: tests/fuzz/coverage/obj/tests/fuzz/fuzz_%.o tests/fuzz/coverage/obj/replay_%.o \
		$(call fz_lib_objs,tests/fuzz/coverage)
	$(AM_V_CCLD)$(FUZZ_CC) $(FZ_LDFLAGS) -o $@ $^ $(FZ_LIBS)

.PHONY: fuzz-programs coverage-programs
.SECONDARY:
-include $(wildcard tests/fuzz/build/obj/*/*.d tests/fuzz/build/obj/*/*/*.d tests/fuzz/build/obj/*/*/*/*.d \
	tests/fuzz/coverage/obj/*.d tests/fuzz/coverage/obj/*/*.d tests/fuzz/coverage/obj/*/*/*.d \
	tests/fuzz/coverage/obj/*/*/*/*.d)
