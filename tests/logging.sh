# logging.sh: integration tests of log completeness (issue 5); sourced by integration.sh.
