console.log('webapp');
