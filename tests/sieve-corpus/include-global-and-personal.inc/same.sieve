require "fileinto";
fileinto "Personal";
