require "fileinto";
if header :matches "subject" "Qu?rterly*" { fileinto "Hit"; }
# the text between "?" and "*" must match too ("X" is not "r")
if header :matches "subject" "Qu?X*" { fileinto "Wrong"; }
