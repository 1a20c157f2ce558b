require "fileinto";
if exists ["list-id", "list-post"] { fileinto "List"; }
if exists ["list-id", "x-nothing"] { fileinto "Wrong"; }
