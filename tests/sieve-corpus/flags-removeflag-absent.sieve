require "imap4flags";
addflag "A";
removeflag "B";
removeflag "a";
