require "imap4flags";
addflag "Z";
keep :flags "";
