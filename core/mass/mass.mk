# The neural-mass kit: an automake fragment included from the top-level
# Makefile.am (paths relative to the top directory), so the kit's files
# are listed in one place.
TB_KITS += mass
twinbrain_include_HEADERS += include/twinbrain/mass.h

libtwinbrain_la_SOURCES += \
	core/mass/mass.c core/mass/mass_internal.h \
	core/mass/mass_codegen.c core/mass/snippet.c \
	core/mass/mass_plugin.c \
	core/mass/mass_perturb.c \
	core/mass/mass_text.c \
	core/mass/mass_scenario.c core/mass/mass_scenario.h \
	core/mass/mass_monitor.c core/mass/mass_checkpoint.c \
	core/mass/scenario_monitor.c core/mass/scenario_monitor.h \
	core/mass/stimulus.c core/mass/stimulus.h \
	core/mass/sweep.c core/mass/sweep.h \
	core/mass/assimilate.c core/mass/assimilate.h \
	core/mass/parameters_from.c core/mass/parameters_from.h \
	core/mass/coupling.c core/mass/coupling.h \
	core/mass/declared_model.c core/mass/declared_model.h

twinbrain_SOURCES += core/bench/bench_mass.c

dist_kernel_DATA += \
	kernels/mass.cl \
	kernels/monitors.cl

plugin_LTLIBRARIES += plugins/jansen_rit.la
plugins_jansen_rit_la_SOURCES = plugins/mass/jansen_rit/jansen_rit.c
plugins_jansen_rit_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_jansen_rit_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/wilson_cowan.la
plugins_wilson_cowan_la_SOURCES = plugins/mass/wilson_cowan/wilson_cowan.c
plugins_wilson_cowan_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_wilson_cowan_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/reduced_wong_wang.la
plugins_reduced_wong_wang_la_SOURCES = plugins/mass/reduced_wong_wang/reduced_wong_wang.c
plugins_reduced_wong_wang_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_reduced_wong_wang_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/wong_wang_ei.la
plugins_wong_wang_ei_la_SOURCES = plugins/mass/wong_wang_ei/wong_wang_ei.c
plugins_wong_wang_ei_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_wong_wang_ei_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/hopf.la
plugins_hopf_la_SOURCES = plugins/mass/hopf/hopf.c
plugins_hopf_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_hopf_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/kuramoto.la
plugins_kuramoto_la_SOURCES = plugins/mass/kuramoto/kuramoto.c
plugins_kuramoto_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_kuramoto_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/epileptor.la
plugins_epileptor_la_SOURCES = plugins/mass/epileptor/epileptor.c
plugins_epileptor_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_epileptor_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/generic_2d_oscillator.la
plugins_generic_2d_oscillator_la_SOURCES = plugins/mass/generic_2d_oscillator/generic_2d_oscillator.c
plugins_generic_2d_oscillator_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_generic_2d_oscillator_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/larter_breakspear.la
plugins_larter_breakspear_la_SOURCES = plugins/mass/larter_breakspear/larter_breakspear.c
plugins_larter_breakspear_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_larter_breakspear_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/montbrio_pazo_roxin.la
plugins_montbrio_pazo_roxin_la_SOURCES = plugins/mass/montbrio_pazo_roxin/montbrio_pazo_roxin.c
plugins_montbrio_pazo_roxin_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_montbrio_pazo_roxin_la_LDFLAGS = $(PLUGIN_LDFLAGS)

dist_example_DATA += examples/jansen_rit.toml examples/resting_state.toml examples/kuramoto_sweep.toml \
	examples/epileptor_seizure.toml examples/kuramoto_order.py

dist_doc_DATA += docs/models.md
EXTRA_DIST += core/mass/mass.mk
