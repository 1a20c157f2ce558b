require "fileinto";
if address :is :domain "cc" "example.org" { fileinto "Cc"; }
if address :contains "cc" "Carol," { fileinto "Wrong"; }
