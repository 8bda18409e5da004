"""`ivr dialplan check`: the Asterisk files against ivr/constants.py (check, pure) and, with
--live, against a running Asterisk over AMI (live)."""
