require "fileinto";
if header :is "x-note" "café au lait" { fileinto "Cafe"; }
