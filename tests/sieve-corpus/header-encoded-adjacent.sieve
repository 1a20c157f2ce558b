require "fileinto";
if header :is "subject" "ab c" { fileinto "Joined"; }
if header :is "subject" "a b c" { fileinto "Spaced"; }
