# attach.sh: integration tests of the attach socket (issue 3); sourced by integration.sh.
