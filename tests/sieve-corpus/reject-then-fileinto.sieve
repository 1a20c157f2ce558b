require ["reject", "fileinto"];
reject "no";
fileinto "Also";
