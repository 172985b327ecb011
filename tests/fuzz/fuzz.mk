# Fuzzing (tests/fuzz/README.md): an automake fragment included from
# tests/Makefile.inc (paths relative to the top folder).
#
# make check: each harness is built with the normal compiler as a plain
# replay program (tests/fuzz/replay.c) that runs its seed corpus and every
# crash ever found (tests/fuzz/regressions/NAME) through it.
# make fuzz: each harness is built with clang's libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer (tests/fuzz/fuzz.make) and fuzzed for
# FUZZ_SECONDS (tests/fuzz/run.sh); new crashes land in
# tests/fuzz/build/crashes/NAME.
# make fuzz-coverage: line coverage of the readers by the corpora.
FUZZ_HARNESSES = toml scenario connectome plugin
FUZZ_SECONDS = 60
FUZZ_FLAGS =
FUZZ_REPLAY_CPPFLAGS = $(AM_CPPFLAGS) $(OPENCL_CFLAGS) $(HDF5_CFLAGS) \
	-DTB_FUZZ_SRCDIR='"$(abs_top_srcdir)"' -DTB_FUZZ_BUILDDIR='"$(abs_top_builddir)"'
FUZZ_REPLAY_LIBS = libtwinbrain.la $(OPENCL_LIBS) $(HDF5_LIBS) -lm

check_PROGRAMS += tests/fuzz/replay_toml tests/fuzz/replay_scenario \
	tests/fuzz/replay_connectome tests/fuzz/replay_plugin
TESTS += tests/fuzz/replay_toml tests/fuzz/replay_scenario \
	tests/fuzz/replay_connectome tests/fuzz/replay_plugin

tests_fuzz_replay_toml_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/fuzz_toml.c
tests_fuzz_replay_toml_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"toml"' \
	-DFUZZ_SHARED_CORPUS='"toml-test"' -DFUZZ_SHARED_SUFFIX='".toml"'
tests_fuzz_replay_toml_LDADD = $(FUZZ_REPLAY_LIBS)
tests_fuzz_replay_scenario_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/fuzz_scenario.c
tests_fuzz_replay_scenario_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"scenario"'
tests_fuzz_replay_scenario_LDADD = $(FUZZ_REPLAY_LIBS)
tests_fuzz_replay_connectome_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/fuzz_connectome.c
tests_fuzz_replay_connectome_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"connectome"'
tests_fuzz_replay_connectome_LDADD = $(FUZZ_REPLAY_LIBS)
tests_fuzz_replay_plugin_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/fuzz_plugin.c
tests_fuzz_replay_plugin_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"plugin"'
tests_fuzz_replay_plugin_LDADD = $(FUZZ_REPLAY_LIBS)

EXTRA_DIST += tests/fuzz/README.md tests/fuzz/fuzz.make tests/fuzz/run.sh tests/fuzz/coverage.sh tests/fuzz/lsan.supp \
	tests/fuzz/toml.dict tests/fuzz/corpus tests/fuzz/regressions tests/fuzz/open

# The libFuzzer build compiles the library's sources again with clang into
# tests/fuzz/build: tests/fuzz/fuzz.make, read together with this Makefile
# for its variables (a plain GNU makefile: it needs pattern rules).
fuzz-build: all
	@if test "x$(FUZZ_CC)" = xnone; then \
	  echo "make fuzz needs clang with libFuzzer: apt-get install clang, or make fuzz FUZZ_CC=clang-15"; \
	  exit 1; fi
	$(MAKE) -f Makefile -f $(srcdir)/tests/fuzz/fuzz.make fuzz-programs
fuzz: fuzz-build
	. $(abs_top_builddir)/tests/env.sh; FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_FLAGS='$(FUZZ_FLAGS)' \
	  $(SHELL) $(srcdir)/tests/fuzz/run.sh tests/fuzz/build $(FUZZ_HARNESSES)
# Line coverage of the readers by the corpora (docs/testing.md).
fuzz-coverage: all
	$(MAKE) -f Makefile -f $(srcdir)/tests/fuzz/fuzz.make coverage-programs
	. $(abs_top_builddir)/tests/env.sh; \
	  $(SHELL) $(srcdir)/tests/fuzz/coverage.sh '$(FUZZ_CC)' $(FUZZ_HARNESSES)
.PHONY: fuzz fuzz-build fuzz-coverage
