require ["imap4flags", "fileinto", "copy"];
addflag "A";
fileinto :copy "X";
addflag "B";
