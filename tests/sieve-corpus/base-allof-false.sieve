require "fileinto";
if allof (true, false) { fileinto "Wrong"; }
