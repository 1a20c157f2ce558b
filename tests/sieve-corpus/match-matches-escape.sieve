require "fileinto";
if header :matches "subject" "*\\**" { fileinto "Star"; }
if header :matches "subject" "You won\\?*" { fileinto "Wrong"; }
if header :matches "subject" "*!!!" { fileinto "Bang"; }
