require "fileinto";
keep;
keep;
fileinto "INBOX";
