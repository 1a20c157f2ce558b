require "fileinto";
fileinto "Deep";
