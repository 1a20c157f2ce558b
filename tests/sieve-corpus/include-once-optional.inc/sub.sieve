require "imap4flags";
addflag "Once";
addflag "Twice";
