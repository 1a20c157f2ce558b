require "fileinto";
if anyof (header :is "x-missing" "", exists "x-missing") { fileinto "Wrong"; }
