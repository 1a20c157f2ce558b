require "fileinto";
if size :over 20000 { fileinto "Wrong"; }
if not size :under 1 { fileinto "NotTiny"; }
