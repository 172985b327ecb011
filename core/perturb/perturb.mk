# The perturbation layer (core/layer.h): [[perturbation]] in any kit's
# scenarios, plugins of the perturbation kind; an automake fragment
# included from the top-level Makefile.am.
TB_LAYERS += perturb
twinbrain_include_HEADERS += include/twinbrain/perturb.h

libtwinbrain_la_SOURCES += \
	core/perturb/perturb.c core/perturb/perturb_internal.h core/perturb/perturb_ops.h \
	core/perturb/perturb_plan.c \
	core/perturb/perturb_apply.c

EXTRA_DIST += core/perturb/perturb.mk
perturbtemplatedir = $(exampledir)/perturbation-template
dist_perturbtemplate_DATA = examples/perturbation-template/Makefile examples/perturbation-template/my_perturbation.c \
	examples/perturbation-template/README.md examples/perturbation-template/my_perturbation.toml
dist_doc_DATA += docs/perturbations.md
perturbexampledir = $(exampledir)/perturbations
dist_perturbexample_DATA = examples/perturbations/lesion_atlas.toml examples/perturbations/dbs_spiking.toml \
	examples/perturbations/epileptor_resection.toml examples/perturbations/drug_dose_response.py \
	examples/perturbations/neurodegeneration.toml

plugin_LTLIBRARIES += plugins/lesion.la
plugins_lesion_la_SOURCES = plugins/perturbation/lesion/lesion.c
plugins_lesion_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_lesion_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/stimulation.la
plugins_stimulation_la_SOURCES = plugins/perturbation/stimulation/stimulation.c
plugins_stimulation_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_stimulation_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/epileptogenic_zone.la
plugins_epileptogenic_zone_la_SOURCES = plugins/perturbation/epileptogenic_zone/epileptogenic_zone.c
plugins_epileptogenic_zone_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_epileptogenic_zone_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/drug.la
plugins_drug_la_SOURCES = plugins/perturbation/drug/drug.c
plugins_drug_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_drug_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugin_LTLIBRARIES += plugins/neurodegeneration.la
plugins_neurodegeneration_la_SOURCES = plugins/perturbation/neurodegeneration/neurodegeneration.c
plugins_neurodegeneration_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_neurodegeneration_la_LDFLAGS = $(PLUGIN_LDFLAGS)
