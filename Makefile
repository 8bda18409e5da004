# The two commands of README:  make demo   and   make test
.PHONY: setup demo test
setup:
	./scripts/setup.sh

# Set everything up, start the sandbox Asterisk, synthesise the demo audio, run a demo campaign.
demo: setup
	.venv/bin/ivr sandbox start
	.venv/bin/ivr audio demo
	.venv/bin/ivr demo

# Set everything up, run the linters (ruff, mypy) and the whole test suite (the tests start
# the sandbox themselves).
test: setup
	./scripts/test.sh
