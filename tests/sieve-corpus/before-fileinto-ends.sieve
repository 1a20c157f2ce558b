require ["fileinto", "imap4flags"];
if hasflag "B" { fileinto "SawFlag"; }
fileinto "User";
