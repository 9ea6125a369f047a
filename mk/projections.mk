# mk/projections.mk - exact against projected penalty (issue 25, item 1;
# docs/RESULTS.md, "Exact against projected penalty"):
#
#   make projections [PROJ_DATASET=usps|mnist]
#        the k = 1, 2, 4 runs beside the committed exact ones (resumable:
#        complete records are skipped), then the table and the plot
#        (scripts/repro/projections.sh, projections_summary.py; data from
#        $JACNET_DATA). USPS: 18 runs, about 20 CPU-minutes each at most;
#        MNIST: hours a run.
PROJ_DATASET ?= usps

.PHONY: projections
projections: $(CLI_BIN)
	JACNET=$(CLI_BIN) scripts/repro/projections.sh $(PROJ_DATASET)
	$(PYTHON) scripts/repro/projections_summary.py --dataset $(PROJ_DATASET)
