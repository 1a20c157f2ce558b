require "fileinto";
# "?" is one octet under i;ascii-casemap (RFC 4790 9.2 works on octets):
# u-umlaut and sharp s are two octets each in UTF-8
if header :matches "subject" "?r????e aus M??nchen" { fileinto "Octets"; }
if header :matches "subject" "*M??nchen" { fileinto "StarOctets"; }
if header :matches "subject" "Gr??e aus M?nchen" { fileinto "Wrong"; }
if header :matches "subject" "*M?nchen" { fileinto "Wrong2"; }
