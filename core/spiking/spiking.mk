# The spiking kit: an automake fragment included from the top-level
# Makefile.am (paths relative to the top directory), so the kit's files
# are listed in one place.
TB_KITS += spiking
twinbrain_include_HEADERS += include/twinbrain/spiking.h

libtwinbrain_la_SOURCES += \
	core/spiking/spiking.c core/spiking/spiking_internal.h \
	core/spiking/spiking_ranks.c \
	core/spiking/spiking_gen.c \
	core/spiking/spiking_text.c \
	core/spiking/spiking_perturb.c \
	core/spiking/spiking_connect.c \
	core/spiking/spiking_record.c core/spiking/spiking_checkpoint.c \
	core/spiking/spiking_io.c \
	core/spiking/spiking_scenario.c core/spiking/spiking_scenario.h \
	core/spiking/spiking_declared.c core/spiking/spiking_declared.h \
	core/spiking/brain.c core/spiking/brain.h \
	core/spiking/brain_parameters_from.c core/spiking/brain_parameters_from.h \
	core/spiking/brain_connect.c core/spiking/brain_connect.h \
	core/spiking/brain_monitor.c core/spiking/brain_monitor.h \
	core/spiking/brain_assimilate.c core/spiking/brain_assimilate.h

twinbrain_SOURCES += core/spiking/cli_spikes.c core/bench/bench_spiking.c

dist_kernel_DATA += \
	kernels/spiking.cl \
	kernels/spiking_draw.cl \
	kernels/spiking_connect.cl

plugin_LTLIBRARIES += plugins/iaf_psc_exp.la plugins/iaf_cond_exp.la plugins/izhikevich.la \
	plugins/aeif_cond_exp.la
plugins_iaf_psc_exp_la_SOURCES = plugins/spiking/iaf_psc_exp/iaf_psc_exp.c
plugins_iaf_psc_exp_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_iaf_psc_exp_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_iaf_cond_exp_la_SOURCES = plugins/spiking/iaf_cond_exp/iaf_cond_exp.c
plugins_iaf_cond_exp_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_iaf_cond_exp_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_izhikevich_la_SOURCES = plugins/spiking/izhikevich/izhikevich.c
plugins_izhikevich_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_izhikevich_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_aeif_cond_exp_la_SOURCES = plugins/spiking/aeif_cond_exp/aeif_cond_exp.c
plugins_aeif_cond_exp_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_aeif_cond_exp_la_LDFLAGS = $(PLUGIN_LDFLAGS)

spikingexampledir = $(exampledir)/spiking
dist_spikingexample_DATA = examples/spiking/coba.toml examples/spiking/cuba.toml \
	examples/spiking/izhikevich.toml examples/spiking/potjans_diesmann.toml \
	examples/spiking/potjans_diesmann_dc.toml examples/spiking/potjans_diesmann.py

brainexampledir = $(exampledir)/brain
dist_brainexample_DATA = examples/brain/brain_246.toml examples/brain/fit_synthetic.py examples/brain/fit_spiking.py

dist_doc_DATA += docs/spiking.md docs/validation.md docs/brain.md
EXTRA_DIST += core/spiking/spiking.mk
