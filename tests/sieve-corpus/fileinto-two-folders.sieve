require "fileinto";
fileinto "One";
fileinto "Two";
