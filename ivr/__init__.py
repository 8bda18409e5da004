"""The call controller: drives Asterisk over AMI, serves FastAGI, stores outcomes."""
