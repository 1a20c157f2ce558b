require "fileinto";
if address :is :localpart "to" "john doe" { fileinto "Quoted"; }
