# The twin kit (visual-cortex digital twins: networks from PyTorch through
# ONNX): an automake fragment included from the top-level Makefile.am when
# configure found protobuf-c (paths relative to the top directory).
TB_KITS += twin
libtwinbrain_la_SOURCES += \
	core/twin/twin.c \
	core/twin/twin_scenario.c core/twin/twin_scenario.h \
	core/twin/twin_stimulus.c core/twin/twin_stimulus.h \
	core/twin/twin_experiment.c core/twin/twin_experiment.h \
	core/twin/twin_experiment_run.c core/twin/twin_experiment_run.h \
	core/twin/twin_tuning.c core/twin/twin_rf.c core/twin/twin_size.c core/twin/twin_response_to.c \
	core/twin/twin_measures.c core/twin/twin_measures.h \
	core/twin/twin_graph.c core/twin/twin_graph.h \
	core/twin/twin_onnx.c core/twin/twin_import.h \
	core/twin/twin_ops.c core/twin/twin_ops.h \
	core/twin/twin_ops_ext.c core/twin/twin_ops_ext.h core/twin/twin_plan.h \
	core/twin/twin_ops_conv3d.c core/twin/twin_ops_pad.c core/twin/twin_ops_norm.c core/twin/twin_ops_seq.c \
	core/twin/twin_ops_trig.c core/twin/twin_ops_split.c core/twin/twin_ops_einsum.c core/twin/twin_ops_convt.c core/twin/twin_ops_if.c \
	core/twin/twin_ops_readout.c core/twin/twin_fuse.c \
	core/twin/twin_fold.c \
	core/twin/twin_network.c \
	core/twin/twin_exec.c core/twin/twin_exec.h \
	core/twin/twin_fit.c core/twin/twin_fit_graph.c core/twin/twin_fit.h \
	core/twin/twin_plugin.c core/twin/twin_plugin.h
twinbrain_include_HEADERS += include/twinbrain/twin.h
nodist_libtwinbrain_la_SOURCES += core/twin/onnx_subset.pb-c.c core/twin/onnx_subset.pb-c.h
libtwinbrain_la_CPPFLAGS += $(PROTOBUF_C_CFLAGS) -I$(top_builddir)/core/twin
libtwinbrain_la_LIBADD += $(PROTOBUF_C_LIBS)
BUILT_SOURCES += core/twin/onnx_subset.pb-c.c core/twin/onnx_subset.pb-c.h
CLEANFILES += core/twin/onnx_subset.pb-c.c core/twin/onnx_subset.pb-c.h

# protoc-c writes both files from the .proto (the ONNX subset the importer reads).
core/twin/onnx_subset.pb-c.c core/twin/onnx_subset.pb-c.h: core/twin/onnx_subset.proto
	$(AM_V_GEN)$(MKDIR_P) core/twin && $(PROTOC_C) --c_out=core/twin -I$(srcdir)/core/twin $(srcdir)/core/twin/onnx_subset.proto

twinbrain_SOURCES += core/twin/cli_twin.c core/twin/twin_array.c core/twin/twin_array.h core/twin/cli_twin_score.c core/twin/twin_score.c core/twin/twin_score.h \
	core/twin/bench_twin.c core/twin/cli_twin_fit.c \
	core/twin/cli_twin_similarity.c core/twin/twin_similarity.c core/twin/twin_embeddings.c core/twin/twin_similarity.h
twinbrain_CPPFLAGS += -I$(top_builddir)/core/twin

dist_kernel_DATA += kernels/twin.cl kernels/twin_ext.cl kernels/twin_seq.cl kernels/twin_experiment.cl kernels/twin_fit.cl
dist_doc_DATA += docs/twin.md
twinexampledir = $(exampledir)/twin
dist_twinexample_DATA = examples/twin/README.md examples/twin/gabor_twin.h5 examples/twin/orientation_tuning.toml \
	examples/twin/receptive_field.toml examples/twin/train_gabor_twin.py
EXTRA_DIST += core/twin/twin.mk core/twin/onnx_subset.proto
# `twinbrain bench twin --model fnn` builds its model from this module (the tests' one).
twinbenchdir = $(pkgdatadir)/bench
twinbench_DATA = tests/twin_fnn.py

# Twin plugins (custom ops): include/twinbrain/twin.h, docs/plugins.md.
plugin_LTLIBRARIES += plugins/gaussian_readout.la
plugins_gaussian_readout_la_SOURCES = plugins/twin/gaussian_readout/gaussian_readout.c
plugins_gaussian_readout_la_CPPFLAGS = $(PLUGIN_CPPFLAGS)
plugins_gaussian_readout_la_LDFLAGS = $(PLUGIN_LDFLAGS)
twinplugintemplatedir = $(exampledir)/twin-plugin-template
dist_twinplugintemplate_DATA = examples/twin-plugin-template/Makefile examples/twin-plugin-template/my_op.c \
	examples/twin-plugin-template/my_op_model.py examples/twin-plugin-template/README.md
