require "fileinto";
if header :matches "subject" "?uarterly*" { fileinto "Q"; }
if header :matches "subject" "*rep?rt" { fileinto "R"; }
if header :matches "subject" "report*" { fileinto "Wrong"; }
