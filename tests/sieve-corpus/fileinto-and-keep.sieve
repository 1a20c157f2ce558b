require "fileinto";
fileinto "One";
keep;
