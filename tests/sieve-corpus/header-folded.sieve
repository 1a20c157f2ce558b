require "fileinto";
if header :contains "received" "by mx.example.com" { fileinto "Unfolded"; }
